/**
 * `cclab box add`'s download against curl: the same file (random bytes, 256 MiB; 64 MiB with
 * --quick) from the same HTTP server on 127.0.0.1 (a separate Node process streaming it from disk),
 * into a file on the same disk. cclab's side is its own download function (dist/box/http.js, the
 * one `box add` uses: each chunk written before the next is read, SHA-512 as the bytes arrive) in a
 * process of its own; each side times its transfer itself (curl's %{time_total}; the function's
 * start to end), so neither process's start-up is counted. Throughput is MiB/s; the ratio is
 * cclab's throughput over curl's.
 *
 * Twice: (a) with the server paced at LINK_MIBPS, a fast link (64 MiB/s is 512 Mbit/s): the
 * download must keep up with the link (target ≥ 0.9× curl); (b) unpaced, where loopback is no
 * link at all and both sides are bound by CPU (2 cores here, shared with the server): what each
 * byte costs cclab against curl, for the record.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { daemon, freePorts, timedOk } from './lib/proc.mjs';
import { pairedRatio, pick, pickRatio, rotate, summary } from './lib/stats.mjs';

/** A file server; `?mibps=N` paces the answer at N MiB/s (1 MiB chunks, sent on schedule). */
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const [file, port] = process.argv.slice(1);
const size = fs.statSync(file).size;
http.createServer(async (req, res) => {
  res.writeHead(200, { 'content-length': size, 'content-type': 'application/octet-stream' });
  const rate = Number(new URL(req.url, 'http://x').searchParams.get('mibps') ?? 0);
  if (!rate) return void fs.createReadStream(file).pipe(res);
  const start = performance.now();
  let sent = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const due = start + (sent / (rate * 1048576)) * 1000;
    if (performance.now() < due) await new Promise((r) => setTimeout(r, due - performance.now()));
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    sent += chunk.length;
  }
  res.end();
}).listen(Number(port), '127.0.0.1', () => console.log('listening'));
`;

/** The paced link of row (a), MiB/s. */
const LINK_MIBPS = 64;

/** cclab's download function in a process of its own; prints its transfer time (ms) and the SHA-512. */
const CCLAB = `
const [dist, url, part] = process.argv.slice(1);
const { download } = await import(dist + '/box/http.js');
const io = { out() {}, err() {}, isTTY: false };
const start = performance.now();
const r = await download(url, part, { io, label: 'Downloading bench', signal: undefined });
const ms = performance.now() - start;
if (!r.found) throw new Error('not found');
console.log(JSON.stringify({ ms, bytes: r.bytes, sha512: r.sha512 }));
`;

export async function download({ root, quick, log }) {
  const mib = quick ? 64 : 256;
  const rounds = quick ? 3 : 5;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cclab-bench-download-'));
  const file = path.join(dir, 'image.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4 << 20);
  for (let i = 0; i < mib / 4; i++) writeSync(fd, randomFillSync(chunk));
  closeSync(fd);
  const [port] = await freePorts(1);
  const server = daemon('bench file server', [process.execPath, '-e', SERVER, file, String(port)], { logFile: path.join(dir, 'server.log') });
  const dist = pathToFileURL(path.join(root, 'dist')).href;
  const out = path.join(dir, 'out.bin');
  const commands = (url) => ({
    cclab: async () => {
      rmSync(out, { force: true });
      const r = await timedOk([process.execPath, '--input-type=module', '-e', CCLAB, dist, url, out]);
      const { ms, bytes } = JSON.parse(r.stdout.trim().split('\n').pop());
      if (bytes !== mib << 20) throw new Error(`cclab downloaded ${bytes} bytes of ${mib << 20}`);
      return ms;
    },
    curl: async () => {
      rmSync(out, { force: true });
      const r = await timedOk(['curl', '-sS', '--fail', '-o', out, '-w', '%{time_total} %{size_download}', url]);
      const [secs, bytes] = r.stdout.trim().split(' ').map(Number);
      if (bytes !== mib << 20) throw new Error(`curl downloaded ${bytes} bytes of ${mib << 20}`);
      return secs * 1000;
    },
  });
  const base = `http://127.0.0.1:${port}/image.bin`;
  const measured = {};
  try {
    // The server answers once it listens: wait for its first complete answer (curl's warm-up).
    for (let tries = 0; ; tries++) {
      try {
        await commands(base).curl();
        break;
      } catch (e) {
        if (tries > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const [key, url] of [['link', `${base}?mibps=${LINK_MIBPS}`], ['loopback', base]]) {
      const cmds = commands(url);
      const mibPerSec = { cclab: [], curl: [] };
      log(`download (${key}): ${mib} MiB from 127.0.0.1${key === 'link' ? ` paced at ${LINK_MIBPS} MiB/s` : ''}, 1 warm-up + ${rounds} interleaved rounds of cclab's download and curl`);
      await cmds.cclab();
      for (let i = 0; i < rounds; i++) {
        for (const k of rotate(Object.keys(cmds), i)) mibPerSec[k].push(mib / ((await cmds[k]()) / 1000));
      }
      measured[key] = mibPerSec;
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const row = (id, benchmark, mibPerSec, target, met) => {
    const ratio = pairedRatio(mibPerSec.cclab, mibPerSec.curl);
    return {
      id,
      benchmark,
      unit: 'MiB/s',
      ...pick(summary(mibPerSec.cclab)),
      baseline: 'curl -o of the same file',
      baselineMedian: summary(mibPerSec.curl).median,
      ratio: pickRatio(ratio),
      target,
      met: met?.(ratio.median),
    };
  };
  return {
    rows: [
      row('download.link', `box add download over a ${LINK_MIBPS} MiB/s link: ${mib} MiB with SHA-512 (MiB/s, higher is better)`, measured.link, '≥ 0.9× curl', (r) => r >= 0.9),
      row('download.loopback', `box add download, unpaced loopback (CPU-bound): ${mib} MiB with SHA-512 (MiB/s)`, measured.loopback, '—', undefined),
    ],
    details: { mib, linkMiBps: LINK_MIBPS, measured },
  };
}
