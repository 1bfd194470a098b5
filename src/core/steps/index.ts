import type { StepId } from '../model.js';
import { catchUp } from './catch-up.js';
import { fenceSource } from './fence-source.js';
import { preflight } from './preflight.js';
import { promoteTargetDb } from './promote-target-db.js';
import { scaleDownSource } from './scale-down-source.js';
import { scaleUpTarget } from './scale-up-target.js';
import type { StepDefinition } from './step.js';
import { switchDns } from './switch-dns.js';
import { verify } from './verify.js';

export type StepRegistry = Readonly<Record<StepId, StepDefinition>>;

export const STEPS: StepRegistry = {
  preflight,
  'fence-source': fenceSource,
  'catch-up': catchUp,
  'scale-up-target': scaleUpTarget,
  'promote-target-db': promoteTargetDb,
  'switch-dns': switchDns,
  verify,
  'scale-down-source': scaleDownSource,
};
