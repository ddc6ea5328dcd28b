/** The fixed seed of the short fault run in `npm test` (scripts/test.mjs prints it). */
export const CHAOS_TEST_SEED = 20261202;
