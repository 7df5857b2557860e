/** The route table (libs/platform/src/topology/services.json) for plain-JS scripts: edge, nginx generator. */
const topology = require('../../libs/platform/src/topology/services.json');

const SERVICES = topology.services;
const SERVICE_NAMES = Object.keys(SERVICES);

/** Longest-prefix match, exactly as libs/platform/src/topology/topology.ts and nginx do it. */
function serviceForPath(path) {
  let best;
  for (const [service, spec] of Object.entries(SERVICES)) {
    for (const prefix of spec.prefixes) {
      if ((path === prefix || path.startsWith(`${prefix}/`)) && (!best || prefix.length > best.length)) {
        best = { service, length: prefix.length };
      }
    }
  }
  return best && best.service;
}

/** Whether `path` is one a service answers with an event stream (its `streams` in services.json). */
const STREAM_PATHS = new Set(Object.values(SERVICES).flatMap((spec) => spec.streams || []));
const isStreamPath = (path) => STREAM_PATHS.has(path);

/** The paths both edges answer themselves, not a service: GET and HEAD only (else 405 with Allow). */
const EDGE_OWN_PATHS = ['/health/live', '/health', '/health/ready', '/docs-json', '/docs/swagger-ui-init.js'];

module.exports = {
  EDGE_PORT: topology.edge_port,
  EDGE_OWN_PATHS,
  SERVICES,
  SERVICE_NAMES,
  serviceForPath,
  isStreamPath,
};
