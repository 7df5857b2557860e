import request from 'supertest';
import { foundationScenarios } from './scenarios/foundation.scenarios';
import { startTopology, type Running } from './support/topologies';

describe('monolith (every module in one process, no RabbitMQ)', () => {
  let running: Running;
  beforeAll(async () => {
    // A RabbitMQ URL nothing listens on: the monolith must not need the broker at all.
    running = await startTopology('monolith', { RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1' });
  });
  afterAll(() => running?.stop());

  foundationScenarios(() => running);

  it('reports readiness of Postgres, Redis and migrations, and no RabbitMQ', async () => {
    const res = await request(running.baseUrl).get('/health/ready').expect(200);
    expect(Object.keys(res.body.details).sort()).toEqual(['migrations', 'postgres', 'redis']);
  });

  it('exposes Prometheus metrics with request durations by route and the outbox backlog', async () => {
    await request(running.baseUrl).get('/health/live').expect(200);
    const res = await request(running.baseUrl).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/http_request_duration_seconds_count\{service="monolith",method="GET",route="\/health\/live",status_code="200"\} \d+/);
    expect(res.text).toMatch(/outbox_backlog\{schema="users",service="monolith"\} \d+/);
    expect(res.text).toContain('process_resident_memory_bytes');
  });
});
