/**
 * Reading BFD's status as ovs-vsctl and ovs-appctl print it, for tests that compare ofswitch with
 * Open vSwitch: `bfdStatusMap` parses `ovs-vsctl get interface X bfd_status` ({k=v, k="v w"});
 * `bfdShowField` takes one `  Label: value` line out of `bfd/show`; `bfdShowLabels` is the list of
 * labels bfd/show prints, without their values (which differ between any two sessions).
 */
const unquote = (s: string): string => s.trim().replace(/^"(.*)"$/, '$1');

export function bfdStatusMap(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of text.trim().slice(1, -1).matchAll(/(\w+)=("[^"]*"|[^,]*)/g)) out[m[1]!] = unquote(m[2]!);
  return out;
}

export function bfdShowField(text: string, label: string): string {
  return new RegExp(`^ {2}${label}: (.*)$`, 'm').exec(text)?.[1] ?? '';
}

export function bfdShowLabels(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/:.*$/, ''));
}
