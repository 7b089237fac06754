// Ajv validators for the committed contracts in proto/schemas (draft 2020-12).
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.mjs';

export const SCHEMA_DIR = join(REPO_ROOT, 'proto', 'schemas');

/** The schemas the app is built against. */
export const SCHEMA_FILES = [
  'deposit-request.json',
  'withdraw-request.json',
  'open-account-request.json',
  'close-account-request.json',
  'transfer-request.json',
  'accepted-response.json',
  'problem.json',
  'status-envelope.json',
  'event-frame.json',
  'event-envelope.json',
  'welcome-frame.json',
  'heartbeat-frame.json',
  'error-frame.json',
  'accepted-frame.json',
  'refreshed-frame.json',
  'client-frame.json',
];

function makeAjv() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  // Integer width formats emitted by the Rust schema generator.
  const int = (min, max) => ({ type: 'number', validate: (n) => Number.isInteger(n) && n >= min && n <= max });
  ajv.addFormat('int64', int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  ajv.addFormat('uint64', int(0, Number.MAX_SAFE_INTEGER));
  ajv.addFormat('int32', int(-(2 ** 31), 2 ** 31 - 1));
  ajv.addFormat('uint32', int(0, 2 ** 32 - 1));
  ajv.addFormat('uint16', int(0, 65535));
  ajv.addFormat('uint8', int(0, 255));
  return ajv;
}

const ajv = makeAjv();
const cache = new Map();

export function schemaExists(file) {
  return existsSync(join(SCHEMA_DIR, file));
}

/** A compiled validator for one schema file; throws when it is missing. */
export function validator(file) {
  let v = cache.get(file);
  if (!v) {
    const path = join(SCHEMA_DIR, file);
    if (!existsSync(path)) throw new Error(`contract schema missing: proto/schemas/${file}`);
    const schema = JSON.parse(readFileSync(path, 'utf8'));
    delete schema.$id;
    v = ajv.compile(schema);
    cache.set(file, v);
  }
  return v;
}

/** Returns null when valid, else a readable list of errors. */
export function check(file, value) {
  const v = validator(file);
  if (v(value)) return null;
  return `${file}: ${ajv.errorsText(v.errors, { separator: '; ' })} in ${JSON.stringify(value).slice(0, 400)}`;
}

export const REQUEST_SCHEMA = {
  '/commands/open-account': 'open-account-request.json',
  '/commands/deposit': 'deposit-request.json',
  '/commands/withdraw': 'withdraw-request.json',
  '/commands/close-account': 'close-account-request.json',
  '/commands/transfer': 'transfer-request.json',
};

export const FRAME_SCHEMA = {
  welcome: 'welcome-frame.json',
  status: 'status-envelope.json',
  event: 'event-frame.json',
  heartbeat: 'heartbeat-frame.json',
  error: 'error-frame.json',
  accepted: 'accepted-frame.json',
  refreshed: 'refreshed-frame.json',
};

/** Validates one server frame by its type; null when valid. */
export function checkFrame(frame) {
  const file = FRAME_SCHEMA[frame?.type];
  if (!file) return `unknown frame type ${JSON.stringify(frame?.type)}: ${JSON.stringify(frame).slice(0, 200)}`;
  return check(file, frame);
}

/** Command names a `command` frame may carry, by the HTTP route whose body it takes. */
export function requestSchemaOf(commandName) {
  return REQUEST_SCHEMA[`/commands/${commandName}`];
}

/**
 * Validates one frame the client sent: the frame against client-frame.json
 * and, for a command, its body against that command's request schema.
 */
export function checkClientFrame(frame) {
  const err = check('client-frame.json', frame);
  if (err) return err;
  if (frame.type === 'command') {
    const schema = requestSchemaOf(frame.command);
    if (!schema) return `command frame names an unknown command ${JSON.stringify(frame.command)}`;
    return check(schema, frame.body);
  }
  return null;
}
