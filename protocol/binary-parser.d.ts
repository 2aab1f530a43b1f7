// binary-parser ships typings but its package.json "exports" hides them from NodeNext resolution:
// point the bare specifier at them.
declare module 'binary-parser' {
  export * from 'binary-parser/dist/binary_parser.js';
}
