/** Signed-in actors for scenarios: fresh customers, and the first admin the suite configured. */
import request from 'supertest';
import { eventually } from './test-env';
import type { Running } from './topologies';

export const PASSWORD = 'correct horse battery staple';
let seq = 0;

export interface Actor {
  id: string;
  email: string;
  token: string;
  refresh: string;
}

export async function newCustomer(running: Running, tag: string): Promise<Actor> {
  const email = `${tag}.${Date.now()}.${seq++}@example.com`;
  const http = request(running.baseUrl);
  const reg = await http
    .post('/auth/register')
    .send({ email, password: PASSWORD, full_name: `Cus ${tag}` })
    .expect(201);
  const login = await request(running.baseUrl)
    .post('/auth/login')
    .send({ email, password: PASSWORD })
    .expect(200);
  return {
    id: reg.body.id as string,
    email,
    token: login.body.access_token as string,
    refresh: login.body.refresh_token as string,
  };
}

/** The admin from ADMIN_EMAIL / ADMIN_PASSWORD, created in the background at startup. */
export async function firstAdmin(running: Running): Promise<Actor> {
  const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = running.t.env;
  const login = await eventually(
    async () => {
      const res = await request(running.baseUrl).post('/auth/login').send({ email, password });
      return res.status === 200 ? res : undefined;
    },
    20000,
    'the first admin to log in',
  );
  const me = await request(running.baseUrl)
    .get('/users/me')
    .set('Authorization', `Bearer ${login.body.access_token}`)
    .expect(200);
  if (me.body.role !== 'admin') throw new Error(`the first admin has role ${me.body.role}`);
  return {
    id: me.body.id as string,
    email,
    token: login.body.access_token as string,
    refresh: login.body.refresh_token as string,
  };
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
