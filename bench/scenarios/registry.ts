// Every scenario by name, in the order the default run performs them.
import { asyncScenario } from './async-modes.js';
import { bulkScenario } from './bulk.js';
import { burstScenario } from './burst.js';
import { echoScenario } from './echo.js';
import { handshakeScenario } from './handshake.js';
import { httpScenario } from './http.js';
import { idleScenario } from './idle.js';
import { openLoopScenario } from './open-loop.js';
import { soakScenario } from './soak.js';
import type { ScenarioDef, ScenarioName } from './types.js';

export const SCENARIOS: Readonly<Record<ScenarioName, ScenarioDef>> = {
  echo: echoScenario,
  'open-loop': openLoopScenario,
  bulk: bulkScenario,
  handshake: handshakeScenario,
  idle: idleScenario,
  http: httpScenario,
  async: asyncScenario,
  burst: burstScenario,
  soak: soakScenario,
};
