/** The machine's Redis, for the cluster-mode suites; every cluster gets its own key prefix from its database. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
