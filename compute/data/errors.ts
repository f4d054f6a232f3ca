/**
 * The one error type of the data layer. Its message is meant for the person at
 * the terminal: one sentence that says what is wrong and how to fix it.
 */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
