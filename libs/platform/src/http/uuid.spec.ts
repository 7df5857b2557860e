import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { IsUuid } from './uuid';

class Params {
  @IsUuid()
  id: string;
}

const check = async (id: unknown) => {
  const params = plainToInstance(Params, { id });
  const errors = await validate(params);
  return { id: params.id, valid: errors.length === 0 };
};

describe('IsUuid', () => {
  it('lower-cases an id sent in upper case, as Postgres returns ids, before any code compares it', async () => {
    await expect(check('0B6F1C3E-8D4A-4C1E-9F7A-2D5E6B7C8A90')).resolves.toEqual({
      id: '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90',
      valid: true,
    });
    await expect(check('0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90')).resolves.toMatchObject({ valid: true });
  });

  it('refuses what is not a uuid, whatever its case', async () => {
    for (const id of ['NOT-A-UUID', '0b6f1c3e8d4a4c1e9f7a2d5e6b7c8a90x', '', 42, null]) {
      await expect(check(id)).resolves.toMatchObject({ valid: false });
    }
  });
});
