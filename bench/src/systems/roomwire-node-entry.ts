/**
 * The Roomwire node as the bench starts it: the server CLI, unchanged, with the bench-only memory
 * probe (see `measure/memory-probe.ts`) loaded first, as the baseline server loads it.
 */
import '../measure/cpu-profile';
import '../measure/memory-probe';
import '../../../server/src/cli';
