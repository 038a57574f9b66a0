// Where each sealed chunk of a websocket output is, and the moves it may make (the diagram is in
// docs/ARCHITECTURE.md, "A chunk's states"). A chunk leaves the machine when it is flushed or
// dropped: its arena and its file go then, and nothing refers to it any more.
//
//   writing    its chunk file is being written (filesystem storage); not yet sendable
//   queued     waiting for a worker, its bytes in memory
//   backoff    waiting for its retry time (a new connection ends the wait at once)
//   on_disk    waiting, but only in its file (storage.max_chunks_up): read back before it is sent
//   in_flight  a worker has it: writing, or written and waiting for its confirmation
export type ChunkState = 'writing' | 'queued' | 'backoff' | 'on_disk' | 'in_flight';

/** The moves a chunk may make; leaving (flushed, dropped) is allowed from every state. */
const NEXT: Readonly<Record<ChunkState, readonly ChunkState[]>> = {
  writing: ['queued'],
  queued: ['in_flight', 'on_disk'],
  backoff: ['queued', 'in_flight', 'on_disk'],
  on_disk: ['queued'],
  // queued: held behind a retry, or retried at once on a connection opened meanwhile.
  in_flight: ['queued', 'backoff'],
};

export interface Stateful {
  readonly chunk: { readonly id: number };
  state: ChunkState;
}

export function canMove(from: ChunkState, to: ChunkState): boolean {
  return NEXT[from].includes(to);
}

/**
 * Moves a chunk to its next state. Returns false for a move the diagram does not have: a bug in
 * the output, which the caller logs; the chunk still moves, since where it really is matters
 * more than the label, and a peer's timing must never stop the relay over a label.
 */
export function moveTo(entry: Stateful, to: ChunkState): boolean {
  const allowed = canMove(entry.state, to);
  entry.state = to;
  return allowed;
}
