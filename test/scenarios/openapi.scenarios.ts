import request from 'supertest';
import { conformanceProblems, recordResponses, type OpenApiDocument } from '../support/openapi-conformance';
import type { Running } from '../support/topologies';

/**
 * Declare last in a topology suite: records every answer from the suite's first request on, and its one
 * test, which runs after all the others, checks them against the OpenAPI document the topology serves.
 */
export function openApiConformanceScenarios(get: () => Running) {
  const responses = recordResponses();

  describe('the OpenAPI document, against every answer of this suite', () => {
    it('documents each answer the suite got through supertest (status, content type, a JSON body valid against its schema with no field left out, an error code its description names) and every operation was called', async () => {
      const origin = new URL(get().baseUrl).origin;
      // The document as the suite first read it (the split suite's last tests leave auth stopped, and the
      // edge's merged document then answers 502), else read now.
      const served =
        responses.find((r) => r.url === `${origin}/docs-json` && r.status === 200)?.body ??
        (await request(origin).get('/docs-json').expect(200)).body;
      const { problems, checked, unexercised } = conformanceProblems(
        served as OpenApiDocument,
        responses,
        origin,
      );
      expect(problems).toEqual([]);
      expect(checked).toBeGreaterThan(5000);
      // /metrics is scraped on each app's own port (the edge's merged document leaves it out).
      expect(unexercised.filter((op) => op !== 'get /metrics')).toEqual([]);
    });
  });
}
