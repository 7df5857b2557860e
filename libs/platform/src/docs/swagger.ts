import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ErrorResponseDto } from '../http/error-response.dto';
import { addCommonResponses } from './common-responses';

/** Swagger UI at /docs and the OpenAPI document at /docs-json, in every app. */
export function setupDocs(app: INestApplication, service: string): void {
  const title = service === 'monolith' ? 'Protobank API' : `Protobank ${service} API`;
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(title)
      .setDescription(
        'Retail-bank backend. JSON bodies are snake_case; money is integer minor units with an ISO 4217 currency. ' +
          'Every error uses one shape: {status, code, message, details, request_id}.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
      // /metrics: the scraper's METRICS_TOKEN, not an access token.
      .addSecurity('metrics', { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' })
      .build(),
    { extraModels: [ErrorResponseDto] },
  );
  addCommonResponses(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', customSiteTitle: title });
}
