import type { MachineInfo } from '../report/machine';
import type { PublishRateCell } from './publish-rate';
import type { ReadRatioResult } from './read-ratio';
import type { WindowMemoryResult } from './window-memory';

/** A bar of the scale-out issue, judged on one run. */
export interface ScaleOutBar {
  bar: string;
  measured: string;
  pass: boolean;
}

/** Everything one `npm run bench -- scale-out` run measured. */
export interface ScaleOutResults {
  mode: 'full' | 'quick';
  startedAt: string;
  durationS: number;
  command: string;
  machine: MachineInfo;
  /** 1-minute load average when the run ended (other work on the machine skews the rates, not the ratios). */
  loadAverageAtEnd: number;
  readRatio: ReadRatioResult;
  windowMemory: WindowMemoryResult;
  publishRate: PublishRateCell[];
  bars: ScaleOutBar[];
}
