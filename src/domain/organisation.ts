import type { DeadlineUnit } from './working-time.js';

/**
 * The organisation a city's admin keeps (decision 0109) as the API sends it:
 * departments, crews, the dispatch routing table and case deadlines. One
 * declaration for the server (db/admin.ts) and the admin views.
 */
export interface Department {
  readonly id: string;
  readonly name: string;
  /** How many crews it has. */
  readonly crews: number;
}

export interface Crew {
  readonly id: string;
  readonly departmentId: string;
  readonly departmentName: string;
  readonly name: string;
}

export interface DispatchRoute {
  readonly id: number;
  /** null: any facility type. */
  readonly facilityType: string | null;
  /** A district, street, community or grid code; '' for the whole city. */
  readonly areaPrefix: string;
  readonly departmentId: string;
  readonly crewId: string | null;
  /** A 部件/事件 class or major class the route is for (issue #16); null or absent: any. */
  readonly categoryCode?: string | null;
}

export interface CaseDeadline {
  readonly id: number;
  readonly severity: string;
  readonly facilityType: string | null;
  readonly acceptMinutes: number;
  readonly handleMinutes: number;
  /** Whether `handleMinutes` are calendar or working minutes (decision 0108). */
  readonly unit: DeadlineUnit;
  /** Verify and dispatch within this (domain.md: 1 working hour). */
  readonly dispatchMinutes: number;
  readonly dispatchUnit: DeadlineUnit;
  readonly source: string;
}
