import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { adminScenarios } from './scenarios/admin.scenarios';
import { authScenarios } from './scenarios/auth.scenarios';
import { foundationScenarios } from './scenarios/foundation.scenarios';
import { usersScenarios } from './scenarios/users.scenarios';
import { accountsScenarios } from './scenarios/accounts.scenarios';
import { ledgerScenarios } from './scenarios/ledger.scenarios';
import { ledgerRaceScenarios } from './scenarios/ledger-races.scenarios';
import { ledgerModelScenarios } from './scenarios/ledger-model.scenarios';
import { analyticsScenarios } from './scenarios/analytics.scenarios';
import { notificationsScenarios } from './scenarios/notifications.scenarios';
import { emailVerificationScenarios } from './scenarios/email-verification.scenarios';
import { passwordResetScenarios } from './scenarios/password-reset.scenarios';
import { HTTP_TEST_ENV, httpScenarios } from './scenarios/http.scenarios';
import { identityScenarios } from './scenarios/identity.scenarios';
import { staffScenarios } from './scenarios/staff.scenarios';
import { PAYMENTS_TEST_ENV, paymentsScenarios } from './scenarios/payments.scenarios';
import { cardsScenarios } from './scenarios/cards.scenarios';
import { cardNetworkScenarios } from './scenarios/card-network.scenarios';
import { operationsMetricsScenarios } from './scenarios/operations-metrics.scenarios';
import { openApiConformanceScenarios } from './scenarios/openapi.scenarios';
import { startReceivers, type Receivers } from './support/receivers';
import { eventually } from './support/test-env';
import { startTopology, type Running } from './support/topologies';

describe('monolith (every module in one process, no RabbitMQ)', () => {
  let running: Running;
  let receivers: Receivers;
  beforeAll(async () => {
    // A RabbitMQ URL nothing listens on: the monolith must not need the broker at all.
    receivers = await startReceivers();
    running = await startTopology('monolith', {
      ...receivers.env,
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1',
      CORS_ORIGINS: 'https://app.protobank.example',
      ...HTTP_TEST_ENV,
      ...PAYMENTS_TEST_ENV,
    });
  });
  afterAll(async () => {
    await running?.stop();
    await receivers?.stop();
  });

  foundationScenarios(() => running);
  authScenarios(() => running);
  adminScenarios(() => running);
  usersScenarios(() => running);
  accountsScenarios(() => running);
  ledgerScenarios(() => running);
  ledgerRaceScenarios(() => running);
  ledgerModelScenarios(() => running);
  staffScenarios(() => running);
  analyticsScenarios(() => running);
  notificationsScenarios(
    () => running,
    () => receivers,
  );
  emailVerificationScenarios(
    () => running,
    () => receivers,
  );
  passwordResetScenarios(
    () => running,
    () => receivers,
  );
  httpScenarios(() => running);
  identityScenarios(() => running);
  paymentsScenarios(() => running);
  cardsScenarios(() => running);
  cardNetworkScenarios(() => running);
  operationsMetricsScenarios(() => running);

  it('reports readiness of Postgres, Redis and migrations, and no RabbitMQ', async () => {
    const res = await request(running.baseUrl).get('/health/ready').expect(200);
    expect(Object.keys(res.body.details).sort()).toEqual(['migrations', 'postgres', 'redis']);
  });

  it('exposes Prometheus metrics with request durations by route and the outbox backlog', async () => {
    await request(running.baseUrl).get('/health/live').expect(200);
    const res = await request(running.baseUrl)
      .get('/metrics')
      .set('Authorization', `Bearer ${running.t.env.METRICS_TOKEN}`)
      .expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(
      /http_request_duration_seconds_count\{service="monolith",method="GET",route="\/health\/live",status_code="200"\} \d+/,
    );
    expect(res.text).toMatch(/outbox_backlog\{schema="users",service="monolith"\} \d+/);
    expect(res.text).toContain('process_resident_memory_bytes');
    // The ledger scenarios ran before: their transfers are counted by outcome.
    expect(res.text).toMatch(
      /ledger_entries_total\{kind="transfer",outcome="posted",service="monolith"\} \d+/,
    );
    expect(res.text).toMatch(
      /ledger_entries_total\{kind="transfer",outcome="insufficient_funds",service="monolith"\} \d+/,
    );
  });

  it('allows CORS only for the configured origins', async () => {
    const allowed = await request(running.baseUrl)
      .options('/auth/register')
      .set('Origin', 'https://app.protobank.example')
      .set('Access-Control-Request-Method', 'POST')
      .expect(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.protobank.example');
    const del = await request(running.baseUrl)
      .options('/auth/sessions/x')
      .set('Origin', 'https://app.protobank.example')
      .set('Access-Control-Request-Method', 'DELETE')
      .expect(204);
    expect(del.headers['access-control-allow-methods']).toContain('DELETE');
    expect(del.headers['access-control-allow-methods']).toContain('PATCH');
    const refused = await request(running.baseUrl)
      .options('/auth/register')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('logs JSON lines carrying the service name and the request id, and no password', async () => {
    await request(running.baseUrl)
      .post('/auth/register')
      .set('X-Request-Id', 'log-check-1')
      .send({
        email: `log.${Date.now()}@example.com`,
        password: 'correct horse battery staple',
        full_name: 'Lou',
      })
      .expect(201);
    const text = await eventually(
      async () => {
        const logged = readFileSync(join(running.t.logDir, 'monolith.log'), 'utf8');
        return logged.includes('"log-check-1"') ? logged : undefined;
      },
      10000,
      'the request to be logged',
    );
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.every((l) => l.service === 'monolith' && typeof l.time === 'string')).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({
        request_id: 'log-check-1',
        method: 'POST',
        route: '/auth/register',
        status: 201,
      }),
    );
    expect(text).not.toContain('correct horse battery staple');
  });

  // Last: its one test checks every answer of the tests above against the OpenAPI document.
  openApiConformanceScenarios(() => running);
});
