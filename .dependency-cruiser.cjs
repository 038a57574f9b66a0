// The import layers `npm run check:deps` enforces (run by `npm run test`, so by `make test`).
// docs/ARCHITECTURE.md ("Layers") says which folder may import which. Type-only imports count
// (tsPreCompilationDeps): a reader follows them like any other import.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'In a cycle no module can be read, tested or moved without the others (a type-only ' +
        'cycle too), and at run time ESM evaluates one of them half-initialised. Move what both ' +
        'need into a module below both.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'codec-imports-only-codec',
      severity: 'error',
      comment:
        'src/codec is the byte layer every other layer reads through (msgpack framing, json-scan, ' +
        'EventTime); importing anything above it would make it part of the layers it serves.',
      from: { path: '^src/codec/' },
      to: { path: '^src/', pathNot: '^src/codec/' },
    },
    {
      name: 'websocket-main-not-worker',
      severity: 'error',
      comment:
        'src/outputs/websocket/main/ runs on the main thread, worker/ in the Piscina threads: ' +
        'they share only protocol.ts. An import across would load one side\'s code (and state) ' +
        'on the other thread.',
      from: { path: '^src/outputs/websocket/main/' },
      to: { path: '^src/outputs/websocket/worker/' },
    },
    {
      name: 'websocket-worker-not-main',
      severity: 'error',
      comment:
        'src/outputs/websocket/worker/ runs in the Piscina threads, main/ on the main thread: ' +
        'they share only protocol.ts. An import across would load one side\'s code (and state) ' +
        'on the other thread.',
      from: { path: '^src/outputs/websocket/worker/' },
      to: { path: '^src/outputs/websocket/main/' },
    },
    {
      name: 'websocket-protocol-sides-neither',
      severity: 'error',
      comment:
        'protocol.ts is the one file both websocket thread sides import; if it imported either ' +
        'side, that side would be loaded on both threads through it.',
      from: { path: '^src/outputs/websocket/protocol\\.ts$' },
      to: { path: '^src/outputs/websocket/(main|worker)/' },
    },
    {
      name: 'chunk-not-encode',
      severity: 'error',
      comment:
        'The chunk format (src/chunk) sits below the encoders that read it: a decoded record ' +
        '(chunk/record.ts) and EventTime (codec) are not an encoder\'s to define.',
      from: { path: '^src/chunk/' },
      to: { path: '^src/encode/' },
    },
    {
      name: 'inputs-not-borrowed',
      severity: 'error',
      comment:
        'src/inputs are plugins the engine starts; what other modules share with them ' +
        '(binding a listener, ListenError) lives in src/net. Only the engine and the inputs ' +
        'themselves import src/inputs.',
      from: { path: '^src/', pathNot: ['^src/inputs/', '^src/engine/engine\\.ts$'] },
      to: { path: '^src/inputs/' },
    },
    {
      name: 'src-not-test-or-load',
      severity: 'error',
      comment:
        'The relay ships dist/src alone; test/ and load/ are not in the package, and a src ' +
        'module that imported them would fail at install or drag test helpers into production.',
      from: { path: '^src/' },
      to: { path: '^(test|load)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment:
        'An import the cruiser cannot resolve is an edge none of the rules above can check; ' +
        'it is also a broken import.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
