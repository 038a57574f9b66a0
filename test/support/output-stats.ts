// The websocket output's own stats (retries, readiness, worker threads), which the engine's
// OutputStats leaves out: it holds only what every output counts.
import type { Engine } from '../../src/engine/engine.js';
import { isWebSocketOutputStats, type WebSocketOutputStats } from '../../src/outputs/websocket/main/stats.js';

export function websocketStats(engine: Engine, output = 'websocket.0'): WebSocketOutputStats {
  const stats = engine.stats().outputs[output];
  if (stats === undefined || !isWebSocketOutputStats(stats)) throw new Error(`${output} is not a websocket output`);
  return stats;
}
