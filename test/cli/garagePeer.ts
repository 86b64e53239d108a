/** The CLI tests' Garage: the shared harness in test/support/garage.ts (one node, S3 + K2V). */
export { garageBinary, garageInitFlags, startGarage, type GaragePeer } from "../support/garage.ts";
