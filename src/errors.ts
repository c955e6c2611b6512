/** One field that failed validation; `index` names the item of a bulk request. */
export interface ErrorDetail {
  field: string;
  message: string;
  index?: number;
}

/** An error that knows its HTTP status and contract code; the error handler renders it as is. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const validationError = (message: string, details: ErrorDetail[]) =>
  new AppError(400, 'VALIDATION_ERROR', message, details);

export const jobNotFound = (jobId: string) =>
  new AppError(404, 'JOB_NOT_FOUND', `No job with id ${jobId}`);

export const conflict = (code: string, message: string) => new AppError(409, code, message);

export const serviceUnavailable = (message = 'The queue store (Redis) is unreachable; try again shortly') =>
  new AppError(503, 'SERVICE_UNAVAILABLE', message);
