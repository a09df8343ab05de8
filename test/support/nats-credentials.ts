import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { createUser as createNkeyUser } from '@nats-io/nkeys';
import type { LocalNatsClusterAuth } from '../../src/bus/nats/local-nats-cluster.js';

/** An NKey user: the server config knows its public key, the client holds its seed in a file. */
export async function makeNkeyUser(dir: string): Promise<{ auth: LocalNatsClusterAuth; seedFile: string }> {
  const user = createNkeyUser();
  const seedFile = join(dir, 'user.nk');
  await writeFile(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`, { mode: 0o600 });
  return { auth: { kind: 'nkey', publicKey: user.getPublicKey() }, seedFile };
}

/**
 * NATS decentralized auth as `nsc` would set it up: an operator, an account signed by it and
 * users signed by the account, made with the NATS ecosystem's own JWT and NKey libraries.
 * Returns the server side (operator JWT and preloaded account) and creds files: a valid user,
 * and one whose JWT expired an hour ago.
 */
export async function makeOperatorCreds(dir: string): Promise<{ auth: LocalNatsClusterAuth; credsFile: string; expiredCredsFile: string }> {
  const operator = createOperator();
  const account = createAccount();
  const operatorJwt = await encodeOperator('framebus-test', operator);
  const accountJwt = await encodeAccount('fleet', account, { limits: { conn: -1, leaf: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true } }, { signer: operator });
  const write = async (name: string, exp?: number) => {
    const user = createUser();
    const jwt = await encodeUser(name, user, account, {}, exp === undefined ? {} : { exp });
    const file = join(dir, `${name}.creds`);
    await writeFile(file, fmtCreds(jwt, user), { mode: 0o600 });
    return file;
  };
  return {
    auth: { kind: 'operator', operatorJwt, accounts: { [account.getPublicKey()]: accountJwt } },
    credsFile: await write('robot'),
    expiredCredsFile: await write('expired', Math.floor(Date.now() / 1000) - 3600),
  };
}
