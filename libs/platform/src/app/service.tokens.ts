/** The name of the running app: a service name, or "monolith". */
export const SERVICE_NAME = Symbol('SERVICE_NAME');
