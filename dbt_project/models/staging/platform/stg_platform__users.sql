with

source as (

    select * from {{ source('platform', 'users') }}
    where {{ as_of_filter() }}

),

typed as (

    select
        {{ clean_text('user_id') }} as user_id,
        {{ clean_hash('email_sha256') }} as email_sha256,
        {{ clean_hash('phone_sha256') }} as phone_sha256,
        {{ canonical_city('city') }} as city,
        {{ to_birth_year('birth_year') }} as birth_year,
        coalesce(case when upper(trim(gender)) in ('M', 'F', 'U') then upper(trim(gender)) end, 'U') as gender,
        {{ to_local_ts('signup_at') }} as signup_at,
        {{ tag_list('interests') }} as interests,
        {{ to_local_ts('updated_at') }} as updated_at,
        -- (v2) consent: partner names lower-cased, '*' = every partner; older drops: no consent
        {{ split_list(column_or_null(source('platform', 'users'), 'share_with'), '|', "nullif(lower(trim(t)), '')") }} as share_with,
        _delivery_date,
        _source_file,
        _source_line
    from source

),

deletions as (

    select * from {{ ref('stg_platform__deletions') }}

),

final as (

    -- the consent in force is the latest row's; a user who asked to be erased is never staged
    {% call latest_per(['user_id']) %}
    select * from typed
    where user_id is not null
        and user_id not in (select user_id from deletions)
    {% endcall %}

)

select * from final
