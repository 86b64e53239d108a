export { openGarageStore, type GarageConfig } from "./garageStore.ts";
