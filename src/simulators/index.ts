export { readCredentials, type DeviceCredential } from './credentials.js';
export {
  sampleReading,
  seededRng,
  streetlightSchedule,
  type DeviceState,
  type Metric,
  type Reading,
} from './generators.js';
export {
  getScenario,
  normalReading,
  playScript,
  scenarioScripts,
  scriptStartMs,
  type ScenarioScript,
  type ScriptDevice,
  type ScriptReading,
  pickDevices,
  scenarioNames,
  scenarios,
  type Scenario,
  type ScenarioName,
} from './scenarios.js';
export { createFleet, type Fleet, type FleetOptions, type FleetStats } from './fleet.js';
