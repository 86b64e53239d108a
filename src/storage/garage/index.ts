export { openGarageStore, type GarageConfig } from "./garageStore.ts";
export { type NetworkStoreOptions } from "../net/netOptions.ts";
