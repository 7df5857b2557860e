/**
 * SMTP for the modules that send e-mail themselves: notifications (its email channel) and auth (password
 * reset e-mails, whose secret goes from the service that checks it straight to the mail relay). Imported
 * as `@protobank/platform/mail` rather than from the platform's main entry, so that apps sending no mail
 * never load nodemailer.
 */
export * from './smtp';
