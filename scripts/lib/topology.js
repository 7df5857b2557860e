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

module.exports = { EDGE_PORT: topology.edge_port, SERVICES, SERVICE_NAMES, serviceForPath };
