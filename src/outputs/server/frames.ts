// WebSocket framing for the server side (RFC 6455 §5.2), done once per message so the same
// bytes can be written to every client: FIN set, never fragmented, never masked (servers must
// not mask). ws's Sender.frame does the same but returns a header and the data separately;
// here frames are laid out back to back in one buffer, so a whole chunk's worth of messages
// reaches a client in one socket write.

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

/** Bytes of the header of an unmasked frame with this payload length. */
export function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65_536 ? 4 : 10;
}

/** Writes the header at `offset` and returns the offset where the payload goes. */
export function writeHeader(target: Buffer, offset: number, opcode: number, payloadLength: number): number {
  target[offset] = 0x80 | opcode;
  if (payloadLength < 126) {
    target[offset + 1] = payloadLength;
    return offset + 2;
  }
  if (payloadLength < 65_536) {
    target[offset + 1] = 126;
    target.writeUInt16BE(payloadLength, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  // Payloads here stay far below 2^32; the high word is zero.
  target.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), offset + 2);
  target.writeUInt32BE(payloadLength >>> 0, offset + 6);
  return offset + 10;
}

/** One frame around `payloads` laid end to end (a json_lines batch). */
export function frameOf(opcode: number, payloads: readonly Buffer[], payloadLength: number): Buffer {
  const out = Buffer.allocUnsafe(headerLength(payloadLength) + payloadLength);
  let at = writeHeader(out, 0, opcode, payloadLength);
  for (const p of payloads) at += p.copy(out, at);
  return out;
}
