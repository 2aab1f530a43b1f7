import t from 'tap';
import { OFPT, negotiateVersion, type Hello } from '../../protocol/index.js';
import { versionBitmap } from '../../protocol/hello.js';

const hello = (version: number, body: number[] = []): Hello => ({ version, type: OFPT.HELLO, xid: 1, body: new Uint8Array(body) });

t.test('without a bitmap, any version of 1 or more negotiates 1.0', async (t) => {
  t.equal(negotiateVersion(hello(1)), 1);
  t.equal(negotiateVersion(hello(6)), 1, 'ovs-testcontroller sends version 6, no bitmap');
  t.equal(negotiateVersion(hello(1, [1, 2, 3])), 1, 'a body that is no hello element is ignored');
  t.equal(negotiateVersion(hello(0xff)), 1);
});

t.test('version 0 is incompatible', async (t) => {
  t.equal(negotiateVersion(hello(0)), null);
});

t.test('a version bitmap decides', async (t) => {
  t.equal(negotiateVersion(hello(4, [0, 1, 0, 8, 0, 0, 0, 0x12])), 1, 'versions 1 and 4');
  t.equal(negotiateVersion(hello(4, [0, 1, 0, 8, 0, 0, 0, 0x10])), null, 'only 1.3');
  t.equal(negotiateVersion(hello(6, [0, 1, 0, 4, 0, 0, 0, 0])), null, 'an empty bitmap');
  t.equal(
    negotiateVersion(hello(6, [0, 9, 0, 6, 1, 2, 0, 0, /* next element */ 0, 1, 0, 8, 0, 0, 0, 0x40])),
    null,
    'bitmap after an unknown element (padded to 8) offers only 1.5',
  );
  t.same(versionBitmap(new Uint8Array([0, 1, 0, 12, 0, 0, 0, 2, 0, 0, 0, 1])), [2, 1], 'several words');
});

t.test('malformed elements are ignored', async (t) => {
  t.equal(versionBitmap(new Uint8Array([0, 1, 0, 2, 0, 0, 0, 0])), null, 'length below 4');
  t.equal(versionBitmap(new Uint8Array([0, 1, 0, 16, 0, 0, 0, 0])), null, 'overruns the body');
  t.equal(negotiateVersion(hello(4, [0, 1, 0, 16, 0, 0, 0, 0])), 1);
});
