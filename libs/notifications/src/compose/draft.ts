import type { Category } from '../preferences/preference-rules';

/** A notification for one user, before it is stored: what the composer makes of an event. */
export interface Draft {
  user_id: string;
  category: Category;
  /** What happened, e.g. `transaction.sent`, for clients that render their own text. */
  type: string;
  title: string;
  body: string;
  /** Ids and figures behind the text (amounts in minor units), for clients. */
  data: Record<string, string | number | boolean | null>;
}
