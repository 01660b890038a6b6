/**
 * Output of `cclab validate` (pure): one `FILE:LINE: severity: message` line per diagnostic, a one-line
 * summary, and the --json document. These formats are a contract (editors and CI parse them).
 */

import type { Diagnostic } from './cloudconfig.js';

export interface FileReport {
  file: string;
  diagnostics: Diagnostic[];
}

export interface ValidationReport {
  files: FileReport[];
  errors: number;
  warnings: number;
}

export function buildReport(files: FileReport[]): ValidationReport {
  let errors = 0;
  let warnings = 0;
  for (const f of files) {
    for (const d of f.diagnostics) {
      if (d.severity === 'error') errors++;
      else warnings++;
    }
  }
  return { files, errors, warnings };
}

/** `FILE:LINE: error: message` (line 0, a problem with the whole file, prints as `FILE: error: message`). */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const where = d.line > 0 ? `${file}:${d.line}` : file;
  return `${where}: ${d.severity}: ${d.message}`;
}

export function formatReport(report: ValidationReport): string {
  const lines: string[] = [];
  for (const f of report.files) for (const d of f.diagnostics) lines.push(formatDiagnostic(f.file, d));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `3 files: 1 error, 2 warnings`. */
export function formatSummary(report: ValidationReport): string {
  return `${plural(report.files.length, 'file')}: ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}`;
}

export function formatValidationJson(report: ValidationReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
