/** @jsxImportSource @kitajs/html */
import { AdminLayout } from "./layout.tsx";

export interface LoginProps {
  passwordEnabled: boolean;
  /** The configured admin provider's name, when provider login is on. */
  provider?: string;
  csrf: string;
  /** A fixed text (never input) saying why the last attempt failed. */
  problem?: string;
}

export function LoginPage(props: LoginProps): JSX.Element {
  return (
    <AdminLayout title="Sign in">
      <section class="card login">
        <h1>Sign in</h1>
        {props.problem === undefined ? (
          ""
        ) : (
          <p class="problem" role="alert" safe>
            {props.problem}
          </p>
        )}
        {props.provider === undefined ? (
          ""
        ) : (
          <a class="button" href="/admin/login/provider" id="provider-login">
            Sign in with <span safe>{props.provider}</span>
          </a>
        )}
        {props.provider !== undefined && props.passwordEnabled ? <p class="or">or</p> : ""}
        {props.passwordEnabled ? (
          <form method="post" action="/admin/login">
            <input type="hidden" name="csrf" value={props.csrf} />
            <label for="password">Admin password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required />
            <button type="submit" class="primary">
              Sign in
            </button>
          </form>
        ) : (
          ""
        )}
      </section>
    </AdminLayout>
  );
}
