/**
 * `work`, or a rejection after `ms`: what a scrape-time read of another system (RabbitMQ, Redis) waits
 * at most. The work itself goes on; its caller keeps it and shares it with the next scrape.
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
