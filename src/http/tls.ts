// HTTPS without a proxy: the certificate and key files, read at start and again whenever they
// change, so a renewal (certbot, cert-manager, acme.sh) needs no restart.
import { type FSWatcher, readFileSync, unwatchFile, watch, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';

export interface TlsFiles {
  /** PEM certificate, optionally followed by its chain (certbot's fullchain.pem). */
  cert: string;
  /** PEM private key, unencrypted. */
  key: string;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** Throws when the pair cannot serve: unreadable, not PEM, truncated, or a key that is not
 * the certificate's. OpenSSL checks all of that when it builds a context. */
function check(pair: TlsPair): void {
  createSecureContext(pair);
}

/** What a log line says about a certificate (the first in the file: the server's own). */
export function describeCertificate(cert: Buffer): Record<string, string> {
  try {
    const x = new X509Certificate(cert);
    return {
      subject: x.subject,
      valid_to: x.validToDate.toISOString(),
      fingerprint256: x.fingerprint256,
    };
  } catch {
    return {};
  }
}

/** The pair for `https.createServer` at start; a ConfigError naming the key otherwise. */
export function loadTlsPair(files: TlsFiles): TlsPair {
  const read = (which: 'cert' | 'key'): Buffer => {
    try {
      return readFileSync(files[which]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError(`server.tls.${which}: cannot read ${files[which]} (${code})`);
    }
  };
  const pair = { cert: read('cert'), key: read('key') };
  try {
    check(pair);
  } catch (error) {
    const e = error as Error & { code?: string };
    throw new ConfigError(
      `server.tls: ${files.cert} and ${files.key} are not a usable certificate and key (${e.code ?? e.message})`,
    );
  }
  return pair;
}

export interface TlsWatchOptions {
  logger: Logger;
  /** Quiet time after the last change before the files are read: a renewal writes the
   * certificate and the key one after the other. */
  debounceMs?: number;
  /** A stat of both files this often, for where directory events do not come (network file
   * systems, a symlink swapped elsewhere, inotify limits reached). */
  pollMs?: number;
}

/**
 * Watches both files and applies a new pair with `server.setSecureContext`: connections
 * already open keep their session, new ones get the new certificate. A pair that does not
 * load (half written, a key from another certificate) is logged and the working one stays;
 * the next change is tried again. Returns the function that stops watching.
 */
export function watchTlsFiles(
  server: TlsServer,
  files: TlsFiles,
  initial: TlsPair,
  options: TlsWatchOptions,
): () => void {
  const { logger, debounceMs = 200, pollMs = 5000 } = options;
  const paths = { cert: resolve(files.cert), key: resolve(files.key) };
  let applied = initial;
  // The last pair that failed, so the directory watcher and the poll reporting the same
  // broken files do not repeat the warning.
  let refused: TlsPair | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;

  const same = (a: TlsPair | undefined, b: TlsPair) =>
    a !== undefined && a.cert.equals(b.cert) && a.key.equals(b.key);

  async function reload(): Promise<void> {
    let pair: TlsPair;
    try {
      const [cert, key] = await Promise.all([readFile(paths.cert), readFile(paths.key)]);
      pair = { cert, key };
    } catch (error) {
      // A file that is gone for a moment (deleted, then written again) comes back as a change.
      logger.warn(
        { err: (error as NodeJS.ErrnoException).code, cert: files.cert, key: files.key },
        'tls: cannot read the certificate files; still serving the previous certificate',
      );
      return;
    }
    if (closed || same(applied, pair) || same(refused, pair)) return;
    try {
      check(pair);
      server.setSecureContext(pair);
    } catch (error) {
      refused = pair;
      const e = error as Error & { code?: string };
      logger.warn(
        { err: e.code ?? e.message, cert: files.cert, key: files.key },
        'tls: the new certificate and key do not load; still serving the previous certificate',
      );
      return;
    }
    applied = pair;
    refused = undefined;
    logger.info(
      { cert: files.cert, ...describeCertificate(pair.cert) },
      'tls: certificate reloaded',
    );
  }

  function run(): void {
    timer = undefined;
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    void reload().finally(() => {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    });
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
    timer.unref();
  }

  // The directory, not the file: a renewal usually renames a new file over the old one (or
  // swaps a symlink, as Kubernetes secret volumes do), and a watch on the old file would
  // follow the replaced inode. Any event in the directory is only a prompt to read both
  // files; an unchanged pair is ignored.
  const watchers: FSWatcher[] = [];
  for (const dir of new Set([dirname(paths.cert), dirname(paths.key)])) {
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (error) => {
        logger.warn({ err: error.message, dir }, 'tls: directory watch failed; polling only');
        watcher.close();
      });
      watchers.push(watcher);
    } catch (error) {
      logger.warn(
        { err: (error as NodeJS.ErrnoException).code, dir },
        'tls: cannot watch the directory; polling only',
      );
    }
  }
  // fs.watchFile stats the path (following symlinks), so it also sees a rename over the file.
  const onStat = (now: { mtimeMs: number; ino: number; size: number }, before: typeof now) => {
    if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.size !== before.size)
      schedule();
  };
  for (const path of new Set([paths.cert, paths.key])) {
    watchFile(path, { persistent: false, interval: pollMs }, onStat);
  }

  return () => {
    closed = true;
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
    for (const path of new Set([paths.cert, paths.key])) unwatchFile(path, onStat);
  };
}
