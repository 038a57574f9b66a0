// Reads of a plain TCP connection into one buffer the input owns, reused for every read.
//
// A net.Socket allocates a fresh 64 KB buffer for every read. The tcp input copies each read
// into a chunk arena at once, so those buffers are garbage as soon as they arrive, but the
// main thread's young generation sees only their small JS wrappers: they pile up as external
// memory (RSS) until V8 runs a full collection for it, and those collections cost main-thread
// CPU (docs/PERFORMANCE.md, "Figures behind the code").
//
// Node 20 offers `onread` (reads into a caller's buffer) only to sockets it creates for
// connect(), not to a server's. So the server accepts with pauseOnConnect (nothing read yet)
// and the accepted connection's handle is moved to a socket made with `onread`. That uses
// Node's `_handle`: where it is not what this expects, the accepted socket is used as it is
// (a test asserts the move takes place on the Node this runs on).
import { Socket } from 'node:net';

interface HandleOwner {
  _handle: { readStart?: unknown; useUserBuffer?: unknown } | null;
}

/** The Socket constructor's options that @types/node leaves out (net.js reads them). */
interface AdoptingSocketOptions {
  handle: object;
  allowHalfOpen: boolean;
  onread: { buffer: Buffer; callback: (bytes: number, buffer: Buffer) => boolean };
}

/**
 * The connection `accepted` (from a server listening with pauseOnConnect), now reading into
 * `buffer`: each read is emitted as a 'data' event holding a view of `buffer`, which the next
 * read overwrites, so a listener copies what it keeps. One buffer serves every connection of
 * an input, since reads are handled one at a time on the main thread. Returns `accepted`
 * itself (reading fresh buffers, so the same listener is still correct) when its handle cannot
 * be moved. The accepted socket is closed with the new one, so the server's connection count
 * (net.max_connections, close()) stays right.
 */
export function adoptWithReusedReads(accepted: Socket, buffer: Buffer): Socket {
  const owner = accepted as unknown as HandleOwner;
  const handle = owner._handle;
  if (
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStart !== 'function'
  ) {
    return accepted;
  }
  owner._handle = null;
  const options: AdoptingSocketOptions = {
    handle,
    allowHalfOpen: accepted.allowHalfOpen,
    onread: {
      buffer,
      callback: (bytes, into) => {
        socket.emit('data', into.subarray(0, bytes));
        return true;
      },
    },
  };
  const socket = new Socket(options as ConstructorParameters<typeof Socket>[0]);
  // Without a handle, destroying it only emits its close, which the server counts.
  socket.once('close', () => accepted.destroy());
  return socket;
}
