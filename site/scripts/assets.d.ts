/** Vite's `?url` imports: the emitted asset's URL (the wasm backend's binaries, for the playground). */
declare module '*.wasm?url' {
  const url: string;
  export default url;
}
