// V8 settings for a process that proxies: turned on once, before traffic.
// (Two more are read only when the heap is set up, so they are command-line
// flags in package.json's start script: --max-semi-space-size=32 for the
// young generation's size, and --no-memory-reducer, see the README's
// Performance section: after some seconds idle V8 shrank the heap, and the
// next burst paid for it with 40% more CPU a request for three seconds.)
//
// Allocation-site pretenuring lets V8 allocate objects from a code site
// straight in the old generation once it saw most of them survive a
// scavenge. For a proxy that guess goes wrong at random: whether it fires
// depends on when scavenges land during warm-up (a small new space, requests
// in flight), and once a per-request site (node:http, h3, undici objects) is
// pretenured, every young object those dead-but-unswept objects reference
// survives each scavenge. Measured in the benchmark, about half of all
// processes (the baseline before the log worker too) fell into that state:
// 2.2 MB surviving each scavenge instead of 0.55, 90% of survivors promoted,
// the heap twice the size, and 15-20% fewer requests per second. Without
// pretenuring every run stayed in the good state. The flag is read at each
// garbage collection, so setting it at startup (before any decision) works.

import { setFlagsFromString } from 'node:v8';

let tuned = false;

export function tuneGcForProxying(): void {
  if (tuned) return;
  tuned = true;
  setFlagsFromString('--no-allocation-site-pretenuring');
}
