import { Type } from 'class-transformer';
import { IsInt, IsString, Min, ValidateNested } from 'class-validator';
import { AppError } from '../errors/app-error';
import { validationPipe } from './validation';

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

  it('passes a valid body through, transformed', async () => {
    const ok = await run({ name: 'x', lines: [{ amount: 2 }] });
    expect(ok).toBeInstanceOf(Body);
  });
});
