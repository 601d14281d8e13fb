// The floor: the least a Node forwarder can do (node:http + an undici Pool
// streaming into the response), with no key pool, rules or logging.
import { createServer } from 'node:http';
import { createForward } from './forward.mjs';

const forward = createForward(process.argv[2]);
const nothing = () => {};

const server = createServer((req, res) => forward(req, res, nothing));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
