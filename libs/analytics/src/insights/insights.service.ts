import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { MAX_CONTACT_IDS, USERS_API, type UsersApi } from '@protobank/contracts';
import { AppConfig, chunksOf, displayText, jsonAmount, LOGGER, startOfDay } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { addDays, addMonths, monthOf, today } from '../summaries/calendar';
import { DailySummaries } from '../summaries/daily-summaries.service';
import type { InsightsDto } from './insights.dto';
import { largestOutgoings, recurringPayees } from './insights-queries';
import { compareMonths } from './month-comparison';

const LARGEST = 5;
const PAYEES = 20;

/**
 * This month against last by category, the largest payments out this month, and payees paid again and
 * again. Another customer paid appears by name only (from the users contract), never by id. Names and
 * merchants pass through displayText: ones stored before their fields were checked may hold control,
 * bidirectional or invisible characters.
 */
@Injectable()
export class InsightsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly summaries: DailySummaries,
    @Inject(USERS_API) private readonly users: UsersApi,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly config: AppConfig,
  ) {}

  async insights(userId: string, now = new Date()): Promise<InsightsDto> {
    const zone = this.config.bankTimeZone;
    // Bounds of bank days, as the movements' days are (movementsOf).
    const instant = (day: string) => startOfDay(day, zone).toISOString();
    const day = today(zone, now);
    const month = monthOf(day);
    const previous = addMonths(month, -1);
    const tomorrow = instant(addDays(day, 1));
    const [days, largest, payees] = await Promise.all([
      this.summaries.range(userId, `${previous}-01`, day),
      largestOutgoings(this.dataSource, userId, instant(`${month}-01`), tomorrow, LARGEST),
      recurringPayees(
        this.dataSource,
        userId,
        instant(`${addMonths(month, -2)}-01`),
        instant(addDays(day, -89)),
        PAYEES,
      ),
    ]);
    const names = await this.names([...largest, ...payees].map((r) => r.counterparty_id));
    const categories = compareMonths(days, month, previous);
    const currencies = [
      ...new Set([...categories.keys(), ...largest.map((r) => r.currency), ...payees.map((r) => r.currency)]),
    ].sort();
    return {
      month,
      previous_month: previous,
      currencies: currencies.map((currency) => ({
        currency,
        categories: categories.get(currency) ?? [],
        largest_outgoings: largest
          .filter((r) => r.currency === currency)
          .map((r) => ({
            transaction_id: r.transaction_id,
            amount: jsonAmount(r.amount),
            category: r.category,
            kind: r.kind,
            merchant: r.merchant === null ? null : displayText(r.merchant),
            payee_name: r.counterparty_id ? (names.get(r.counterparty_id) ?? null) : null,
            occurred_at: r.occurred_at.toISOString(),
            reversed: r.reversed,
          })),
        recurring_payees: payees
          .filter((r) => r.currency === currency)
          .map((r) => ({
            payee: r.merchant !== null ? displayText(r.merchant) : (names.get(r.counterparty_id!) ?? null),
            payee_type: r.merchant ? ('merchant' as const) : ('customer' as const),
            payments: r.payments,
            months: r.months ?? [],
            total: jsonAmount(r.total),
            last_paid_at: r.last_paid_at.toISOString(),
          })),
      })),
    };
  }

  /**
   * Full names of these customers, in calls of at most MAX_CONTACT_IDS (a top list per currency fits one
   * today, but a longer list or more currencies must not lose every name); none when users cannot be
   * reached (the rest still answers).
   */
  private async names(ids: (string | null)[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids.filter((id): id is string => !!id))];
    if (unique.length === 0) return new Map();
    try {
      const contacts = (
        await Promise.all(chunksOf(unique, MAX_CONTACT_IDS).map((chunk) => this.users.getContacts(chunk)))
      ).flat();
      return new Map(contacts.map((c) => [c.user_id, displayText(c.full_name)]));
    } catch (err) {
      this.logger.warn({ err, payees: unique.length }, 'payee names unavailable');
      return new Map();
    }
  }
}
