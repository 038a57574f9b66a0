// bufferutil (ws's optional native helper) ships no types; only what we call is declared.
declare module 'bufferutil' {
  /** output[offset + i] = source[i] ^ mask[i & 3] for i < length; output may be source. */
  export function mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  const bufferUtil: { mask: typeof mask };
  export default bufferUtil;
}
