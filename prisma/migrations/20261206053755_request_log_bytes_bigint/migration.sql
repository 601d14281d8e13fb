-- RequestLog.bytesIn and bytesOut become BigInt in the Prisma schema (64-bit:
-- a response over 2 GiB overflowed a 32-bit Int). On SQLite every INTEGER
-- column already stores 64-bit values, so the stored data needs no change.
-- Prisma's generated migration would rebuild the whole table (copy every log
-- row, recreate six indexes) only to rename the declared type from INTEGER to
-- BIGINT; on a large log that takes minutes and doubles the file meanwhile, so
-- the columns keep their declared type. The client reads them as BigInt either
-- way (a test reads a value over 2^32 back through Prisma on a database
-- migrated like this).
SELECT 1;
