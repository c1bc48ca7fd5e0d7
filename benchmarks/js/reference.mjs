// The reference JS stack (@digitalbazaar/vc + eddsa-rdfc-2022-cryptosuite) as a peer for
// benchmarks/verify.py and as the independent signer of tests/vectors/js-reference.
//
//   node reference.mjs < job.json > result.json
//
// job: {mode: "sign" | "bench", contexts: {url: document}, key: Multikey with secret,
//       credentials: [unsigned credentials], created: proof date (optional),
//       warmup: how many leading credentials only warm up (bench; default 1)}
// sign:  {signed: [...], canonical: [canonical N-Quads of each unsigned credential]}
// bench: {issueSeconds, verifySeconds, count}; every verification must succeed.
// Contexts come from the job (accredit's own allowlist): nothing is fetched.
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {driver} from '@digitalbazaar/did-method-key';
import jsonld from 'jsonld';
import {readFileSync} from 'node:fs';

const job = JSON.parse(readFileSync(0, 'utf8'));
const didKey = driver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function documentLoader(url) {
  if(url in job.contexts) {
    return {contextUrl: null, documentUrl: url, document: job.contexts[url]};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: await didKey.get({url})};
  }
  throw new Error(`refused to load ${url}`);
}

const key = await Ed25519Multikey.from(job.key);
const signingSuite = () => new DataIntegrityProof({signer: key.signer(), cryptosuite, date: job.created});
const verifyingSuite = new DataIntegrityProof({cryptosuite});
const checkStatus = async () => ({verified: true}); // status lists are not fetched when timing

async function issue(credential) {
  return vc.issue({credential: structuredClone(credential), suite: signingSuite(), documentLoader});
}

async function verify(credential) {
  const result = await vc.verifyCredential({credential, suite: verifyingSuite, documentLoader, checkStatus});
  if(!result.verified) {
    throw new Error('reference verification failed: ' + JSON.stringify(result, null, 1).slice(0, 2000));
  }
}

if(job.mode === 'sign') {
  const signed = [];
  const canonical = [];
  for(const credential of job.credentials) {
    signed.push(await issue(credential));
    canonical.push(await jsonld.canonize(credential, {
      algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true
    }));
  }
  for(const credential of signed) {
    await verify(credential);
  }
  process.stdout.write(JSON.stringify({signed, canonical}));
} else {
  // Warm-up on the first `warmup` credentials (contexts, key, V8's JIT), then time the rest.
  const warmup = job.warmup ?? 1;
  for(const credential of job.credentials.slice(0, warmup)) {
    await verify(await issue(credential));
  }
  let started = process.hrtime.bigint();
  const signed = [];
  for(const credential of job.credentials.slice(warmup)) {
    signed.push(await issue(credential));
  }
  const issueSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  started = process.hrtime.bigint();
  for(const credential of signed) {
    await verify(credential);
  }
  const verifySeconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({issueSeconds, verifySeconds, count: signed.length}));
}
