import { bursts } from './bursts';
import { coldStep } from './cold-step';
import { loneEvents } from './lone-events';
import { overload } from './overload';
import { recoveryStorm } from './recovery-storm';
import { saturation, saturationHotRooms } from './saturation';
import { SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenario';
import { spread } from './spread';

/** Every scenario, in run order. */
export const SCENARIOS: readonly Scenario[] = [coldStep, loneEvents, bursts, recoveryStorm, spread, saturation, saturationHotRooms, overload];

/** Parses a comma-separated list of scenario names; throws on an unknown one. Keeps run order. */
export function parseScenarios(list: string): ScenarioName[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const name of names) {
    if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown scenario ${JSON.stringify(name)}; expected some of ${SCENARIO_NAMES.join(', ')}`);
    }
  }
  return SCENARIO_NAMES.filter((n) => names.includes(n));
}
