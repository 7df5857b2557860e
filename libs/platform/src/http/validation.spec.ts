import { Type } from 'class-transformer';
import { IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { AppError } from '../errors/app-error';
import { assertSomethingToChange, MAX_LISTED_FIELDS, validationPipe } from './validation';

class Line {
  @IsInt()
  @Min(1)
  amount: number;
}

class Body {
  @IsString()
  name: string;

  @ValidateNested({ each: true })
  @Type(() => Line)
  lines: Line[];
}

describe('validationPipe', () => {
  const pipe = validationPipe();
  const run = (value: unknown) =>
    pipe.transform(value, { type: 'body', metatype: Body }).catch((e: unknown) => e);

  it('names each failing field, nested ones by path, and unknown fields', async () => {
    const err = await run({ name: 7, lines: [{ amount: 0 }], extra: 1 });
    expect(err).toBeInstanceOf(AppError);
    const body = (err as AppError).toBody();
    expect(body.status).toBe(400);
    expect(body.code).toBe('validation_failed');
    expect(body.details).toEqual(
      expect.arrayContaining([
        { field: 'name', message: 'name must be a string' },
        { field: 'lines.0.amount', message: 'amount must not be less than 1' },
        { field: 'extra', message: 'property extra should not exist' },
      ]),
    );
  });

  it('tells a missing or null field that it is required, and a field of the wrong type only that', async () => {
    const details = async (value: unknown) => ((await run(value)) as AppError).toBody().details;
    expect(await details({ lines: [{ amount: null }] })).toEqual([
      { field: 'name', message: 'name is required' },
      { field: 'lines.0.amount', message: 'amount must not be null' },
    ]);
    // '100.00' fails both IsInt and Min: the type is what is wrong.
    expect(await details({ name: 'x', lines: [{ amount: '100.00' }] })).toEqual([
      { field: 'lines.0.amount', message: 'amount must be an integer number' },
    ]);
    // Of the right type, every check it fails is named.
    expect(await details({ name: 'x', lines: [{ amount: 0 }] })).toEqual([
      { field: 'lines.0.amount', message: 'amount must not be less than 1' },
    ]);
  });

  it('passes a valid body through, transformed', async () => {
    const ok = await run({ name: 'x', lines: [{ amount: 2 }] });
    expect(ok).toBeInstanceOf(Body);
  });
});

describe('validation errors', () => {
  class Small {
    @IsString()
    name: string;
  }
  const pipe = validationPipe();
  const run = (value: unknown) =>
    pipe.transform(value, { type: 'body', metatype: Small }).catch((e: unknown) => (e as AppError).toBody());

  it('list at most MAX_LISTED_FIELDS fields and count the rest, in details and message', async () => {
    const body: Record<string, unknown> = { name: 1 };
    for (let i = 0; i < 500; i++) body[`k${i}`] = 1;
    const err = await run(body);
    expect(err.details).toHaveLength(MAX_LISTED_FIELDS + 1);
    expect(err.details[0]).toEqual({ field: 'name', message: 'name must be a string' });
    expect(err.details.at(-1)).toEqual({ message: '491 more fields not listed' });
    expect(err.message).toBe('Invalid request: name, k0, k1, k2, k3, k4, k5, k6, k7, k8 and 491 more');
    expect(JSON.stringify(err).length).toBeLessThan(2048);
  });

  it('clip a field name as long as the body', async () => {
    const err = await run({ name: 'x', ['y'.repeat(500000)]: 1 });
    expect(err.details).toHaveLength(1);
    expect(err.details[0].field).toHaveLength(64);
    expect(JSON.stringify(err).length).toBeLessThan(1024);
  });

  it('list every field when there are few', async () => {
    const err = await run({ name: 2, a: 1 });
    expect(err.message).toBe('Invalid request: name, a');
    expect(err.details.map((d: { field?: string }) => d.field)).toEqual(['name', 'a']);
  });
});

describe('assertSomethingToChange', () => {
  const check = (body: object) => () =>
    assertSomethingToChange(body, 'nothing to change', 'give at least one of a, b');

  it('refuses a change of nothing, also one whose fields are all undefined, naming body', () => {
    for (const body of [{}, { a: undefined, b: undefined }]) {
      expect(check(body)).toThrow(AppError);
      try {
        check(body)();
      } catch (err) {
        expect(err).toMatchObject({
          status: 400,
          code: 'validation_failed',
          message: 'Invalid request: nothing to change',
          details: [{ field: 'body', message: 'give at least one of a, b' }],
        });
      }
    }
  });

  it('lets through a change of one field, null included (it removes a value)', () => {
    expect(check({ a: undefined, b: null })).not.toThrow();
    expect(check({ a: 0 })).not.toThrow();
  });
});
