import { Command, Option } from 'commander';
import { runId, runInit } from './identity-commands.js';
import { runServe } from './serve.js';
import { runStatus } from './status.js';
import { runInvite, runJoin } from './invite-commands.js';
import { runPeerAdd } from './peer-command.js';
import type { RawOptions } from './settings.js';

function common(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data directory (env MARBLE_DATA; default ~/.local/share/marble)')
    .option('--config <file>', 'JSON config file (env MARBLE_CONFIG; default <data>/config.json)');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The `marble` command: the composition root. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('marble')
    .description('Marble Synch: one replicated tree of files, mounted over WebDAV, with history and splits instead of lost edits')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode));

  common(program.command('init').description('create an instance in the data directory and print its id'))
    .option('--name <name>', 'human name of this instance (env MARBLE_NAME; default the host name)')
    .action((o: RawOptions) => runInit(o));

  common(program.command('id').description("print the instance's id")).action((o: RawOptions) => runId(o));

  common(program.command('serve').description('serve the tree (creating the instance if the data directory is new)'))
    .option('--name <name>', 'name for a new instance (env MARBLE_NAME)')
    .option('--webdav <host:port>', 'WebDAV listen address (env MARBLE_WEBDAV; default 127.0.0.1:8437)')
    .option('--http <host:port>', 'HTTP API listen address (env MARBLE_HTTP; default 127.0.0.1:8438)')
    .option('--nfs <host:port>', 'NFS v3 and MOUNT listen address, one TCP port (env MARBLE_NFS; default 127.0.0.1:8439)')
    .option('--nfs-allow <list>', 'NFS clients served: addresses/CIDRs, comma-separated (env MARBLE_NFS_ALLOW; default loopback)')
    .option('--portmap', 'also run a portmapper on port 111, for Windows NFS clients (env MARBLE_PORTMAP)')
    .option('--users <file>', 'require HTTP Basic auth for WebDAV with the users in this file (env MARBLE_USERS)')
    .option('--api-token <token>', 'Bearer token for the HTTP API when --http is not loopback (env MARBLE_API_TOKEN)')
    .addOption(new Option('--allow-insecure-auth', 'allow Basic auth without TLS beyond loopback').hideHelp())
    .option('--history-keep <n>', 'versions of each file whose content history keeps (default 10)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug (env MARBLE_LOG_LEVEL)')
    .option('--peer <url>', 'keep a connection to this peer, e.g. ws://host:8438/peer (repeatable; env MARBLE_PEERS)', collect)
    .option('--trust <fingerprint>', "trust the peer with this key fingerprint (repeatable; env MARBLE_TRUST)", collect)
    .option('--tls-cert <file>', 'PEM certificate: WebDAV and the HTTP API (peers: wss://) over TLS (env MARBLE_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env MARBLE_TLS_KEY)')
    .action((o: RawOptions & { peer?: string[] }) => runServe({ ...o, peers: o.peer }));

  const peer = program.command('peer').description('manage the peers this instance connects to');
  common(peer.command('add').argument('<url>', 'the peer endpoint, e.g. ws://host:8438/peer').description('connect to a peer from the next start'))
    .option('--trust <fingerprint>', "trust the peer's key (marble id on the peer prints it)")
    .action((url: string, o: RawOptions & { trust?: string }) => runPeerAdd(url, { ...o, trust: undefined, fingerprint: o.trust }));

  common(program.command('invite').description('print a one-time code that lets another instance pair with this running one'))
    .option('--http <host:port>', 'HTTP API address of the running instance')
    .option('--api-token <token>', 'Bearer token of that API, if it needs one (env MARBLE_API_TOKEN)')
    .option('--url <ws-url>', 'the peer endpoint the other instance should dial (default: where this one listens)')
    .option('--valid-hours <n>', 'how long the code works (default 24)')
    .action((o: RawOptions & { url?: string; validHours?: string }) => runInvite(o));

  common(program.command('join').argument('<code>', 'the code marble invite printed on the other machine').description('pair with the instance that printed this invite code, from the next start'))
    .action((code: string, o: RawOptions) => runJoin(code, o));

  common(program.command('status').description('show what the instance is doing'))
    .option('--http <host:port>', 'HTTP API address of the running instance')
    .option('--api-token <token>', 'Bearer token of that API, if it needs one (env MARBLE_API_TOKEN)')
    .action((o: RawOptions) => runStatus(o));

  await program.parseAsync(argv);
}
