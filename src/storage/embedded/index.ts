/** The embedded backend's public face: open a data folder as a Store (see embeddedStore.ts). */
export { openEmbeddedStore, type EmbeddedStore, type EmbeddedStoreOptions } from "./embeddedStore.ts";
