#!/bin/sh
# Prisma's CLI insists on a native schema engine even for `prisma generate`,
# and it cannot be downloaded here. Generation does not use it; migrations run
# through the Wasm engine (`npm run db:migrate`). Anything that does reach this
# stub is told so.
echo "keyrelay: the native Prisma schema engine is not used; run migrations with 'npm run db:migrate'." >&2
exit 1
