declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The JSON body exactly as received (UTF-8 text), set by the platform's JSON parser: what a signature
     * over the body is checked against. Undefined for a request without a body.
     */
    rawBody?: string;
  }
}

export {};
